
m	
userxz[[[[š{"model":"other"}